// Greets a caller by name: the first letter of each word in capitals.
// Input: {name: " ada lovelace "}
// Output: {greeting: "Hello, Ada Lovelace!"}

function main(context) {
  const words = String(context.input.name || "").trim().split(/\s+/).filter(Boolean);
  const name = words.map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join(" ");
  return { greeting: name ? `Hello, ${name}!` : "Hello!" };
}
