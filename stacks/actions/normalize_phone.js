// Normalizes a caller's phone number to E.164 so that CRM lookups and dialing agree.
// Input: {phone: "(415) 555-0132", defaultCountryCode: "1"}
// Output: {e164: "+14155550132", valid: true, countryCode: "1"}

function digitsOf(text) {
  return String(text || "").replace(/\D/g, "");
}

function main(context) {
  const raw = String(context.input.phone || "").trim();
  const defaultCountryCode = digitsOf(context.input.defaultCountryCode || "1");
  let digits = digitsOf(raw);
  if (raw.startsWith("+")) {
    // already international
  } else if (digits.startsWith("00")) {
    digits = digits.slice(2);
  } else if (defaultCountryCode === "1" && digits.length === 11 && digits.startsWith("1")) {
    // North American number written with its trunk prefix
  } else {
    digits = defaultCountryCode + digits.replace(/^0+/, "");
  }
  const valid = digits.length >= 8 && digits.length <= 15;
  const countryCode = digits.startsWith("1") ? "1" : digits.slice(0, 2);
  return { e164: valid ? "+" + digits : null, valid: valid, countryCode: valid ? countryCode : null };
}
