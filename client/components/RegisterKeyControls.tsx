import type { Component } from 'solid-js';
import { ErrorAlert } from './ErrorAlert.tsx';
import { Field } from './Field.tsx';

/**
 * The end of a form that registers a security key (an enrollment's key step, a company user's
 * first key): the optional nickname, the error, the touch prompt and the button. The form
 * reads the nickname from its `nickname` field.
 */
export const RegisterKeyControls: Component<{ error: unknown; pending: boolean; busy: boolean }> = (props) => (
  <>
    <Field label="Key nickname" hint="Optional. Helps you tell your keys apart.">
      {(control) => <input {...control} name="nickname" placeholder="Blue YubiKey" autocomplete="off" />}
    </Field>
    <ErrorAlert error={props.error} />
    <p class="key-prompt" role="status">
      {props.pending ? 'Touch your key…' : ''}
    </p>
    <button type="submit" class="primary" aria-disabled={props.busy}>
      Register security key
    </button>
  </>
);
