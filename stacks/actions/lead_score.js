// Scores a lead from 0 to 100 and grades it A to D, with the reasons, so that
// agents and routing see why a lead is hot.
// Input: a lead (as for base_enrichment) plus engagement {pagesViewed, demoRequested}
// Output: {score, grade, reasons: ["segment MID_MARKET +20", ...]}

const SEGMENT_POINTS = { ENTERPRISE: 30, MID_MARKET: 20, SMB: 10, UNKNOWN: 0 };
const SOURCE_POINTS = { referral: 20, partner: 15, web: 10, event: 10, purchased_list: 0 };

function gradeOf(score) {
  if (score >= 75) return "A";
  if (score >= 50) return "B";
  if (score >= 25) return "C";
  return "D";
}

function main(context) {
  const lead = context.input;
  const enrichment = context.call("base_enrichment", lead);
  const engagement = lead.engagement || {};
  const reasons = [];
  let score = 0;
  const add = (points, reason) => {
    if (points > 0) {
      score += points;
      reasons.push(reason + " +" + points);
    }
  };
  add(SEGMENT_POINTS[enrichment.segment] || 0, "segment " + enrichment.segment);
  add(SOURCE_POINTS[enrichment.source] || 0, "source " + enrichment.source);
  add(enrichment.businessEmail ? 15 : 0, "business email");
  add(enrichment.phoneValid ? 10 : 0, "reachable phone");
  add(Math.min(20, 2 * (Number(engagement.pagesViewed) || 0)), "pages viewed");
  add(engagement.demoRequested ? 15 : 0, "demo requested");
  score = Math.min(100, score);
  return { score: score, grade: gradeOf(score), reasons: reasons };
}
