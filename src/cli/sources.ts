/** `--mirror DIR|URL` (repeatable) and `--debian-snapshot URL`: where pinned bytes may come from (docs/mirrors.md). */
export const SOURCE_FLAGS = {
  mirror: { type: 'string', multiple: true },
  'debian-snapshot': { type: 'string' },
} as const;

export function sourceOptions(values: { mirror?: string[]; 'debian-snapshot'?: string }): { mirrors?: string[]; debianSnapshot?: string } {
  return { ...(values.mirror && { mirrors: values.mirror }), ...(values['debian-snapshot'] !== undefined && { debianSnapshot: values['debian-snapshot'] }) };
}
