import type { ReactNode } from 'react';
import { formatTitle } from '../formats';

/** The first line of a discussion in a list: its topic and its format (and what `children` add). */
export function TopicLine({ title, format, children }: { title: string; format: string; children?: ReactNode }) {
  return (
    <div className="history-main">
      <strong>{title}</strong>
      <span className="pill">{formatTitle(format)}</span>
      {children}
    </div>
  );
}
