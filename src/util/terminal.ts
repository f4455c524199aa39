/**
 * The one function every untrusted string goes through before it reaches a terminal: names
 * from archives and envelopes, subject names, key ids, claims, step logs, error messages that
 * quote input. An escape sequence (`\x1b[2K\r✓ PASSED`) or a bidi override in such a string
 * could otherwise redraw what the user reads: a fake verdict over a real one, a file name that
 * displays reversed. C0 and C1 controls (newline and carriage return included: one field must
 * stay one line), DEL and the bidi controls are shown as `\xNN` / `\u{NNNN}`, never sent raw.
 * `--json` output never goes through here: JSON.stringify escapes controls itself, and
 * machines must get the exact strings.
 */
export function escapeTerminal(text: string): string {
  return text.replace(TERMINAL_UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** For text whose line breaks are ours (hints, reports): each line escaped, the breaks kept. */
export function escapeTerminalLines(text: string): string {
  return text.split('\n').map(escapeTerminal).join('\n');
}

// C0 (U+0000–U+001F), DEL and C1 (U+007F–U+009F), ALM, LRM/RLM, LRE…RLO (U+202A–U+202E),
// LRI…PDI (U+2066–U+2069), and the Unicode line/paragraph separators some terminals break on.
const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
