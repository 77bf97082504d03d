// The reason and the note of a report, asked the same way by both reporting forms: during a
// talk (RoomReport) and after it (the summary's).
import { REPORT_REASONS } from '../text';

const REASONS = Object.entries(REPORT_REASONS);

export function ReportFields(props: {
  reason: string;
  onReason: (reason: string) => void;
  note: string;
  onNote: (note: string) => void;
  noteLabel: string;
  /** No reason is picked until the person picks one, and the form needs one. */
  choose?: boolean;
  disabled?: boolean;
}) {
  return (
    <>
      <label>
        Reason
        <select value={props.reason} onChange={(e) => props.onReason(e.target.value)} required={props.choose} disabled={props.disabled}>
          {props.choose && <option value="">Choose a reason…</option>}
          {REASONS.map(([value, label]) => (
            <option key={value} value={value}>{label}</option>
          ))}
        </select>
      </label>
      <label>
        {props.noteLabel}
        <textarea maxLength={1000} rows={3} value={props.note} onChange={(e) => props.onNote(e.target.value)} disabled={props.disabled} />
      </label>
    </>
  );
}
