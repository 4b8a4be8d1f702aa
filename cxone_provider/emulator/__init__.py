"""A local CXone Data Actions API: a real HTTP server with a persistent store and a V8 sandbox."""
