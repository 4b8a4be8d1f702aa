// Derives the key the CRM uses to find an existing contact: the normalized email when
// there is one, else the E.164 phone, so duplicates collapse whatever the formatting.
// Input: {phone, email}
// Output: {key: "email:dana.whitfield@northwind-logistics.com", matchedOn: "email"}

function main(context) {
  const email = context.call("normalize_email", { email: context.input.email });
  if (email.valid) {
    return { key: "email:" + email.email, matchedOn: "email" };
  }
  const phone = context.call("normalize_phone", { phone: context.input.phone, defaultCountryCode: "1" });
  if (phone.valid) {
    return { key: "phone:" + phone.e164, matchedOn: "phone" };
  }
  return { key: null, matchedOn: "none" };
}
