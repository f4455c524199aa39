/**
 * A short, safe rendering of a value parsed from someone else's JSON or YAML, for error
 * messages. `String(value)` is not safe there: an object such as `{"toString": 0}` makes it
 * throw a TypeError, turning a clear refusal into a crash. Strings come back as they are
 * (escape them for the terminal where they are printed), anything else as bounded JSON.
 */
export function showValue(value: unknown, maxLength = 80): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') return typeof value;
  let text: string;
  try {
    text = JSON.stringify(value) ?? typeof value;
  } catch {
    text = Array.isArray(value) ? 'a list' : 'an object';
  }
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}
