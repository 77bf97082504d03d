// Never miss a match: while the tab is hidden, a proposal puts its countdown in the page title,
// plays a short sound and raises a system notification; clicking the notification brings the
// tab forward on the proposal. Notifications are asked for when the person first queues, and
// they may say no (remembered in this browser).
import { useEffect, useRef } from 'react';

const ANSWER_KEY = 'disco.notifications';
const TAG = 'disco-proposal';

export type NotificationChoice = 'granted' | 'denied' | 'ask' | 'unsupported';

export function notificationChoice(): NotificationChoice {
  if (typeof Notification === 'undefined') return 'unsupported';
  if (Notification.permission === 'granted') return 'granted';
  if (Notification.permission === 'denied' || localStorage.getItem(ANSWER_KEY) === 'no') return 'denied';
  return 'ask';
}

export async function allowNotifications(): Promise<NotificationChoice> {
  if (typeof Notification === 'undefined') return 'unsupported';
  await Notification.requestPermission();
  return notificationChoice();
}

export function refuseNotifications(): void {
  localStorage.setItem(ANSWER_KEY, 'no');
}

let audio: AudioContext | null = null;

/** Made ready during a click (joining the queue): a hidden tab may play sound only from an
 * audio context a person's gesture started. */
export function primeSound(): void {
  try {
    audio ??= new AudioContext();
    void audio.resume();
  } catch {
    audio = null;
  }
}

function chime(): void {
  if (!audio) return;
  const t = audio.currentTime;
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.frequency.setValueAtTime(880, t);
  osc.frequency.setValueAtTime(1320, t + 0.12);
  gain.gain.setValueAtTime(0.0001, t);
  gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
  osc.connect(gain).connect(audio.destination);
  osc.start(t);
  osc.stop(t + 0.4);
}

function notify(body: string): Notification | null {
  if (notificationChoice() !== 'granted') return null;
  try {
    const n = new Notification('DISCO: we found you a partner', { body, tag: TAG, requireInteraction: true });
    n.onclick = () => {
      window.focus();
      if (!window.location.hash.startsWith('#/lobby')) window.location.hash = '#/lobby';
      n.close();
    };
    return n;
  } catch {
    return null;
  }
}

export interface ProposalAlert {
  matchId: string;
  expiresAt: number;
  body: string;
}

/** While `alert` is set and the tab is hidden: the countdown in the title, and once per match a
 * sound and a notification. The title comes back when the tab is shown or the proposal ends. */
export function useProposalAlert(alert: ProposalAlert | null): void {
  const alerted = useRef<string | null>(null);
  useEffect(() => {
    if (!alert) return undefined;
    const title = document.title;
    let note: Notification | null = null;
    const tick = () => {
      if (!document.hidden) {
        document.title = title;
        return;
      }
      const left = Math.max(0, Math.ceil((alert.expiresAt - Date.now()) / 1000));
      document.title = `(${left} s) Partner found · DISCO`;
      if (alerted.current !== alert.matchId) {
        alerted.current = alert.matchId;
        chime();
        note = notify(`${alert.body} · ${left} s to answer`);
      }
    };
    tick();
    const timer = setInterval(tick, 500);
    document.addEventListener('visibilitychange', tick);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', tick);
      document.title = title;
      note?.close();
    };
  }, [alert]);
}
