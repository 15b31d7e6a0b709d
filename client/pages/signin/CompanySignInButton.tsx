import { Show, type Component } from 'solid-js';
import { companySignInHref } from '../../api/companySignIn.ts';
import { Alert } from '../../components/ErrorAlert.tsx';

export interface CompanySignInButtonProps {
  /** OIDC_DISPLAY_NAME: the button reads "Sign in with <displayName>". */
  displayName: string;
  /** Where to go once signed in (an in-app path). */
  next: string;
}

/**
 * Company sign-in (OIDC): a plain link, so the browser leaves for the provider and comes back
 * to this page for the security key. `rel="external"` keeps the router from treating it as a
 * page of the app.
 */
export const CompanySignInButton: Component<CompanySignInButtonProps> = (props) => (
  <a class="button-link primary company-signin" rel="external" href={companySignInHref(props.next)}>
    Sign in with {props.displayName}
  </a>
);

export interface CompanySignInOptionProps extends CompanySignInButtonProps {
  /** Why the person is back here (a company sign-in that did not complete), when no password form shows it. */
  notice: string | undefined;
  /** The password form follows: an "or" between the two. */
  divider: boolean;
}

/** The company sign-in button at the top of the sign-in page, and what separates it from the password form. */
export const CompanySignInOption: Component<CompanySignInOptionProps> = (props) => (
  <div class="stack company-signin-option">
    <Show when={props.notice}>{(notice) => <Alert>{notice()}</Alert>}</Show>
    <CompanySignInButton displayName={props.displayName} next={props.next} />
    <Show when={props.divider}>
      <p class="signin-divider" aria-hidden="true">
        <span>or with your password</span>
      </p>
    </Show>
  </div>
);
