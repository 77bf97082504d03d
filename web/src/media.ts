import { MediaDeviceFailure } from 'livekit-client';

export const PERMISSION_TEXT =
  'DISCO is not allowed to use your camera or microphone. Allow them for this site in your ' +
  "browser (the camera icon in the address bar, or the site's settings), then press Try again.";

/** What went wrong, and what to do about it before joining (the Try again button) and during
 * a talk (the device buttons below the videos). */
type Advice = { readonly beforeJoining: string; readonly inTalk: string };

const ADVICE = new Map<MediaDeviceFailure, Advice>([
  [MediaDeviceFailure.PermissionDenied, { beforeJoining: PERMISSION_TEXT, inTalk: PERMISSION_TEXT }],
  [
    MediaDeviceFailure.NotFound,
    {
      beforeJoining: 'No camera or microphone was found. Plug one in, then press Try again.',
      inTalk: 'No camera or microphone was found. Plug one in and turn it on with the buttons below.',
    },
  ],
  [
    MediaDeviceFailure.DeviceInUse,
    {
      beforeJoining: 'Your camera or microphone is in use by another program. Close it, then press Try again.',
      inTalk: 'Your camera or microphone is in use by another program. Close it and turn it on again below.',
    },
  ],
]);

const OTHER: Advice = {
  beforeJoining:
    'Your camera or microphone could not be started. Check that they are connected and allowed, then press Try again.',
  inTalk: 'Your camera or microphone could not be started. Check them and turn them on again below.',
};

function advice(failure: MediaDeviceFailure | undefined): Advice {
  return (failure === undefined ? undefined : ADVICE.get(failure)) ?? OTHER;
}

/** Words a person understands for a failed getUserMedia or a LiveKit device failure. */
export function mediaErrorText(e: unknown): string {
  return advice(e instanceof Error ? MediaDeviceFailure.getFailure(e) : undefined).beforeJoining;
}

/** The same, for a device that failed during a talk. */
export function failureText(failure: MediaDeviceFailure | undefined): string {
  return advice(failure).inTalk;
}
