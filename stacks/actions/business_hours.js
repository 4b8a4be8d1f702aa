// Says whether the contact center is open at a given moment in its own time zone.
// The time comes from the input (never the clock), so the answer is reproducible.
// Input: {at: "2024-03-12T15:30:00Z", utcOffsetMinutes: -300, openHour: 8, closeHour: 18}
// Output: {open: true, localHour: 10, weekday: "TUE"}

const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

function main(context) {
  const input = context.input;
  const instant = new Date(input.at);
  if (Number.isNaN(instant.getTime())) {
    throw new Error("business_hours: 'at' must be an ISO 8601 date-time, got " + JSON.stringify(input.at));
  }
  const local = new Date(instant.getTime() + (Number(input.utcOffsetMinutes) || 0) * 60000);
  const localHour = local.getUTCHours();
  const weekday = WEEKDAYS[local.getUTCDay()];
  const openHour = input.openHour === undefined ? 8 : input.openHour;
  const closeHour = input.closeHour === undefined ? 18 : input.closeHour;
  const workday = weekday !== "SAT" && weekday !== "SUN";
  return { open: workday && localHour >= openHour && localHour < closeHour, localHour: localHour, weekday: weekday };
}
