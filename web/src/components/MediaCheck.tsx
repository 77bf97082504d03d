import { useCallback, useEffect, useRef, useState } from 'react';
import { mediaErrorText } from '../media';

const UNSUPPORTED_TEXT =
  'This browser cannot use a camera here. Open DISCO over https or on this computer, in a current browser.';

/** A camera preview in the lobby, so a person learns about a blocked camera before a match. */
export function MediaCheck() {
  const video = useRef<HTMLVideoElement>(null);
  const supported = navigator.mediaDevices !== undefined && 'getUserMedia' in navigator.mediaDevices;
  const [state, setState] = useState<'asking' | 'ok' | 'error'>(supported ? 'asking' : 'error');
  const [message, setMessage] = useState(supported ? '' : UNSUPPORTED_TEXT);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let stream: MediaStream | null = null;
    let live = true;
    if (!supported) return undefined;
    navigator.mediaDevices
      .getUserMedia({ video: { width: 320, height: 240 }, audio: true })
      .then((s) => {
        if (!live) {
          s.getTracks().forEach((t) => t.stop());
          return;
        }
        stream = s;
        if (video.current) video.current.srcObject = s;
        setState('ok');
      })
      .catch((e: unknown) => {
        if (!live) return;
        setState('error');
        setMessage(mediaErrorText(e));
      });
    return () => {
      live = false;
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, [attempt, supported]);

  const retry = useCallback(() => {
    setState(supported ? 'asking' : 'error');
    setAttempt((a) => a + 1);
  }, [supported]);

  return (
    <section className="card media-check" aria-labelledby="media-title">
      <h2 id="media-title">Your camera</h2>
      <div className="preview" hidden={state === 'error'}>
        <video ref={video} autoPlay muted playsInline aria-label="Your camera preview" hidden={state !== 'ok'} />
        {state === 'asking' && <p className="muted" role="status">Asking for your camera and microphone…</p>}
      </div>
      {state === 'ok' && <p className="ok small">Camera and microphone are working.</p>}
      {state === 'error' && (
        <div className="error" role="alert" data-testid="media-error">
          <p>{message}</p>
          <button type="button" className="btn btn-small" onClick={retry}>
            Try again
          </button>
        </div>
      )}
    </section>
  );
}
