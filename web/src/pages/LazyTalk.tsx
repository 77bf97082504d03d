// The talk's video components are a chunk of their own, loaded when a room opens.
import { lazy, Suspense } from 'react';
import type { TalkResult } from './Summary';
import type { TalkInfo } from './Talk';

const Talk = lazy(() => import('./Talk').then((m) => ({ default: m.Talk })));

export function LazyTalk(props: { info: TalkInfo; onEnded: (r: TalkResult) => void }) {
  return (
    <Suspense fallback={<p className="muted" role="status">Opening your room…</p>}>
      <Talk info={props.info} onEnded={props.onEnded} />
    </Suspense>
  );
}
