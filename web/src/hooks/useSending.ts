// A form that sends one request at a time: busy while it runs, then a message to show: what the
// sender returns when it worked, or the error's text.
import { useState } from 'react';
import { errorText } from '../api';

export interface Message {
  ok: boolean;
  text: string;
}

export function useSending() {
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<Message | null>(null);
  async function send(request: () => Promise<string>) {
    setBusy(true);
    setMsg(null);
    try {
      setMsg({ ok: true, text: await request() });
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    } finally {
      setBusy(false);
    }
  }
  return { busy, msg, send };
}
