import type { FormatInfo } from './lobbyProtocol';

/** Used until the lobby has listed its formats (`lobby.status`). */
export const KNOWN_FORMATS: FormatInfo[] = [
  { id: 'casual', title: 'Casual conversation', kind: 'casual' },
  { id: 'quick-debate', title: 'Quick debate', kind: 'debate' },
  { id: 'lincoln-douglas', title: 'Lincoln-Douglas', kind: 'debate' },
  { id: 'oxford', title: 'Oxford-style', kind: 'debate' },
];

export function formatTitle(id: string, formats: FormatInfo[] = KNOWN_FORMATS): string {
  return formats.find((f) => f.id === id)?.title ?? KNOWN_FORMATS.find((f) => f.id === id)?.title ?? id;
}

export function isDebate(id: string, formats: FormatInfo[] = KNOWN_FORMATS): boolean {
  const f = formats.find((x) => x.id === id) ?? KNOWN_FORMATS.find((x) => x.id === id);
  return f ? f.kind === 'debate' : id !== 'casual';
}
