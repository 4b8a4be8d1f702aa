// Decides where an inbound lead goes: the queue, its priority, and whether to promise a
// callback when the center is closed. Built on lead_score and business_hours.
// Input: {lead: {...}, at: ISO date-time, utcOffsetMinutes}
// Output: {queue, priority, callback, grade, score}

const QUEUES = {
  A: { queue: "enterprise_sales", priority: 1 },
  B: { queue: "inside_sales", priority: 2 },
  C: { queue: "inside_sales", priority: 4 },
  D: { queue: "nurture_email", priority: 5 },
};

function main(context) {
  const input = context.input;
  const scored = context.call("lead_score", input.lead);
  const hours = context.call("business_hours", { at: input.at, utcOffsetMinutes: input.utcOffsetMinutes });
  const route = QUEUES[scored.grade];
  const live = route.queue !== "nurture_email";
  return {
    queue: live && !hours.open && scored.grade !== "A" ? "callback_queue" : route.queue,
    priority: route.priority,
    callback: live && !hours.open,
    grade: scored.grade,
    score: scored.score,
  };
}
