// The call's controls: microphone (disabled while it is not your turn), camera, devices, leave.
import { MediaDeviceSelect, MicDisabledIcon, MicIcon, TrackToggle, useLocalParticipant, useTrackToggle } from '@livekit/components-react';
import { Track } from 'livekit-client';
import { useState } from 'react';

export function Controls(props: { micAllowed: boolean; micReason: string; onLeave: () => void }) {
  const [devicesOpen, setDevicesOpen] = useState(false);
  const { isCameraEnabled } = useLocalParticipant();
  return (
    <div className="controls-wrap">
      <div className="controls" role="toolbar" aria-label="Call controls">
        <MicButton allowed={props.micAllowed} reason={props.micReason} />
        <TrackToggle
          source={Track.Source.Camera}
          className="btn ctl"
          aria-label={isCameraEnabled ? 'Turn camera off' : 'Turn camera on'}
          data-testid="camera-toggle"
        >
          {isCameraEnabled ? 'Camera off' : 'Camera on'}
        </TrackToggle>
        <button type="button" className="btn ctl" aria-expanded={devicesOpen} aria-controls="devices" onClick={() => setDevicesOpen((o) => !o)}>
          Devices
        </button>
        <button type="button" className="btn btn-danger ctl" onClick={props.onLeave} data-testid="leave">
          Leave
        </button>
      </div>
      {!props.micAllowed && (
        <p className="small muted mic-reason" id="mic-reason" data-testid="mic-reason">
          {props.micReason}
        </p>
      )}
      {devicesOpen && (
        <div id="devices" className="devices panel">
          <div>
            <h3 id="mic-devices">Microphone</h3>
            <MediaDeviceSelect kind="audioinput" aria-labelledby="mic-devices" />
          </div>
          <div>
            <h3 id="cam-devices">Camera</h3>
            <MediaDeviceSelect kind="videoinput" aria-labelledby="cam-devices" />
          </div>
          <div>
            <h3 id="out-devices">Speaker</h3>
            <MediaDeviceSelect kind="audiooutput" aria-labelledby="out-devices" />
          </div>
        </div>
      )}
    </div>
  );
}

/** The microphone toggle; unlike TrackToggle it can be disabled while it is not your turn. */
function MicButton({ allowed, reason }: { allowed: boolean; reason: string }) {
  const { toggle, enabled, pending } = useTrackToggle({ source: Track.Source.Microphone });
  return (
    <button
      type="button"
      className="btn ctl"
      data-lk-enabled={enabled}
      aria-pressed={enabled}
      disabled={!allowed || pending}
      aria-label={enabled ? 'Mute microphone' : 'Unmute microphone'}
      aria-describedby={allowed ? undefined : 'mic-reason'}
      title={allowed ? undefined : reason}
      onClick={() => void toggle()}
      data-testid="mic-toggle"
    >
      {enabled ? <MicIcon aria-hidden="true" /> : <MicDisabledIcon aria-hidden="true" />}
      {enabled ? 'Mute' : 'Unmute'}
    </button>
  );
}

