// Builds the enriched lead every downstream action works from: normalized contact
// details (through normalize_phone and normalize_email) and the company segment.
// Input: a lead {name, phone, email, company, employees, source}
// Output: {contact: {...}, phoneValid, emailValid, businessEmail, segment, source}

function segmentOf(employees) {
  const count = Number(employees) || 0;
  if (count >= 1000) return "ENTERPRISE";
  if (count >= 100) return "MID_MARKET";
  if (count > 0) return "SMB";
  return "UNKNOWN";
}

function main(context) {
  const lead = context.input;
  const phone = context.call("normalize_phone", { phone: lead.phone, defaultCountryCode: "1" });
  const email = context.call("normalize_email", { email: lead.email });
  return {
    contact: {
      name: String(lead.name || "").trim(),
      company: String(lead.company || "").trim(),
      phone: phone.e164,
      email: email.email,
    },
    phoneValid: phone.valid,
    emailValid: email.valid,
    businessEmail: email.valid && !email.freeMail,
    segment: segmentOf(lead.employees),
    source: String(lead.source || "unknown").toLowerCase(),
  };
}
