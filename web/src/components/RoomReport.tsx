// Reporting the partner during the talk: a reason, what happened, the chat as this page showed
// it (attached as evidence), and blocking them at the same time.
import { useState, type FormEvent } from 'react';
import { api, type ChatLine } from '../api';
import { useSending } from '../hooks/useSending';
import { ReportFields } from './ReportFields';

export function RoomReport(props: { token: string; room: string; partnerName: string; chat: () => ChatLine[] }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('harassment');
  const [note, setNote] = useState('');
  const [block, setBlock] = useState(true);
  const { busy, msg, send } = useSending();

  async function submit(e: FormEvent) {
    e.preventDefault();
    await send(async () => {
      const chat = props.chat().slice(-200);
      await api.reportInRoom(props.token, { room: props.room, reason, note: note.trim(), chat, block });
      const blocked = block ? ` ${props.partnerName} is blocked: you will not be matched again.` : '';
      return `Thank you. A moderator will look at your report.${blocked} You may leave the talk at any time.`;
    });
  }

  if (!open) {
    return (
      <button type="button" className="btn btn-small btn-danger" onClick={() => setOpen(true)} aria-expanded="false">
        Report
      </button>
    );
  }
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="room-report-title" data-testid="room-report">
      <h2 id="room-report-title">Report {props.partnerName}</h2>
      <ReportFields reason={reason} onReason={setReason} note={note} onNote={setNote} noteLabel="What happened?" />
      <p className="hint">The chat of this talk is attached as you see it.</p>
      <label className="check">
        <input type="checkbox" checked={block} onChange={(e) => setBlock(e.target.checked)} />
        Also block {props.partnerName}
      </label>
      {msg && <p className={msg.ok ? 'notice' : 'error'} role={msg.ok ? 'status' : 'alert'}>{msg.text}</p>}
      <button className="btn btn-danger" type="submit" disabled={busy || msg?.ok === true}>
        {busy ? 'Sending…' : 'Send report'}
      </button>
    </form>
  );
}
