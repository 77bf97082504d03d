import { MediaDeviceFailure } from 'livekit-client';

export const PERMISSION_TEXT =
  'DISCO is not allowed to use your camera or microphone. Allow them for this site in your ' +
  "browser (the camera icon in the address bar, or the site's settings), then press Try again.";

/** Words a person understands for a failed getUserMedia or a LiveKit device failure. */
export function mediaErrorText(e: unknown): string {
  const failure = e instanceof Error ? MediaDeviceFailure.getFailure(e) : undefined;
  switch (failure) {
    case MediaDeviceFailure.PermissionDenied:
      return PERMISSION_TEXT;
    case MediaDeviceFailure.NotFound:
      return 'No camera or microphone was found. Plug one in, then press Try again.';
    case MediaDeviceFailure.DeviceInUse:
      return 'Your camera or microphone is in use by another program. Close it, then press Try again.';
    default:
      return 'Your camera or microphone could not be started. Check that they are connected and allowed, then press Try again.';
  }
}

export function failureText(failure: MediaDeviceFailure | undefined): string {
  switch (failure) {
    case MediaDeviceFailure.PermissionDenied:
      return PERMISSION_TEXT;
    case MediaDeviceFailure.NotFound:
      return 'No camera or microphone was found. Plug one in and turn it on with the buttons below.';
    case MediaDeviceFailure.DeviceInUse:
      return 'Your camera or microphone is in use by another program. Close it and turn it on again below.';
    default:
      return 'Your camera or microphone could not be started. Check them and turn them on again below.';
  }
}
