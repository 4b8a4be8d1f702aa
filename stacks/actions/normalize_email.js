// Normalizes an email address and tells business addresses from free-mail ones.
// Input: {email: "  Dana.Whitfield@Northwind-Logistics.com "}
// Output: {email: "dana.whitfield@northwind-logistics.com", valid: true,
//          domain: "northwind-logistics.com", freeMail: false}

const FREE_MAIL_DOMAINS = [
  "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
  "aol.com", "icloud.com", "proton.me", "gmx.com",
];
const EMAIL = /^[a-z0-9._%+-]+@([a-z0-9-]+\.)+[a-z]{2,}$/;

function main(context) {
  const email = String(context.input.email || "").trim().toLowerCase();
  const valid = EMAIL.test(email);
  const domain = valid ? email.slice(email.indexOf("@") + 1) : null;
  return {
    email: valid ? email : null,
    valid: valid,
    domain: domain,
    freeMail: valid && FREE_MAIL_DOMAINS.includes(domain),
  };
}
