import { KNOWN_FORMATS, type FormatInfo } from './protocol';

export function formatTitle(id: string, formats: FormatInfo[] = KNOWN_FORMATS): string {
  return formats.find((f) => f.id === id)?.title ?? KNOWN_FORMATS.find((f) => f.id === id)?.title ?? id;
}

export function isDebate(id: string, formats: FormatInfo[] = KNOWN_FORMATS): boolean {
  const f = formats.find((x) => x.id === id) ?? KNOWN_FORMATS.find((x) => x.id === id);
  return f ? f.kind === 'debate' : id !== 'casual';
}
