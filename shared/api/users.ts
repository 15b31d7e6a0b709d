/** Users, sessions, sign-in and enrollment: request and response types of the JSON API. */
import type { PendingChangeView } from './pendingChanges.ts';
import type { Role, UserStatus } from './roles.ts';

export { ROLES, USER_STATUSES, type Role, type UserStatus } from './roles.ts';

/** What the browser may know about a user. Never includes the password hash. */
export interface PublicUser {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  status: UserStatus;
  createdAt: string;
}

/** GET /api/session */
export type SessionResponse =
  | { signedIn: true; user: PublicUser; expiresAt: string }
  | { signedIn: false };

/** POST /api/auth/signin */
export interface SignInRequest {
  username: string;
  password: string;
}

/**
 * The answer to a completed step of sign-in or enrollment: either fully signed in, or the
 * security-key step comes next (fetch its options from the endpoint the step names).
 */
export type StepResponse = { next: 'done'; user: PublicUser } | { next: 'security_key' };

/** GET /api/enrollment/:token */
export interface EnrollmentInfo {
  username: string;
  displayName: string;
  expiresAt: string;
  /** Steps still to do, in order. */
  remaining: Array<EnrollmentStep>;
  /**
   * True when the password was chosen earlier but the key step was never finished: the
   * person confirms that password (POST …/resume) before registering a key.
   */
  resumable: boolean;
}

export type EnrollmentStep = 'password' | 'security_key';

/** POST /api/enrollment/:token/password */
export interface SetPasswordRequest {
  password: string;
}

/** Password policy, shared so the browser can say the rules before the server enforces them. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/** A one-time enrollment link, shown once to the admin who made it. */
export interface EnrollmentLink {
  url: string;
  expiresAt: string;
}

/**
 * How far a user got with enrollment: `link_sent` (no password yet), `password_set` (the key
 * step is left), `complete` (a key is registered: the link was used up).
 */
export const ENROLLMENT_STATES = ['link_sent', 'password_set', 'complete'] as const;
export type EnrollmentState = (typeof ENROLLMENT_STATES)[number];

/** A user as the admin console lists them. */
export interface AdminUserView extends PublicUser {
  enrollment: EnrollmentState;
  /** Security keys of any status. */
  keyCount: number;
  /** The last successful sign-in (enrollment's included); null if never. */
  lastSignInAt: string | null;
  /** How the user can start signing in; the security key always follows. */
  signIn: SignInFactors;
}

/**
 * Company sign-in (OIDC) of one account: `linked` to a provider identity; `allowed`, an admin
 * allowed the next company sign-in under this username to link to it; `none`.
 */
export const COMPANY_SIGN_IN = ['linked', 'allowed', 'none'] as const;
export type CompanySignIn = (typeof COMPANY_SIGN_IN)[number];

/** The first factors an account has: a password (chosen at enrollment) and/or a company identity. */
export interface SignInFactors {
  password: boolean;
  company: CompanySignIn;
}

/** GET /api/auth/methods (served by server/routes/auth.ts): the ways to start signing in this deployment offers. */
export interface SignInMethodsResponse {
  /**
   * False under PASSWORD_SIGNIN=false: the page hides the password form. Break-glass admins
   * open it with /signin?method=password.
   */
  password: boolean;
  /** Company sign-in (OIDC), when configured: the button reads "Sign in with <displayName>". */
  company: { displayName: string } | null;
}

/**
 * GET /api/auth/oidc/step: where a company sign-in stands after the provider answered.
 * - security_key: touch one of your keys (POST /api/auth/key/options, /api/auth/key);
 * - register_key: no key yet: register one (POST /api/auth/oidc/first-key/options, …/first-key);
 * - none: no company sign-in is under way in this browser.
 */
export type CompanySignInStep =
  | { step: 'security_key' | 'register_key'; username: string; displayName: string; firstKeyNeedsApproval: boolean }
  | { step: 'none' };

/** POST /api/auth/oidc/first-key: signed in, or the key waits for an admin's approval. */
export type FirstKeyResponse = { next: 'done'; user: PublicUser } | { next: 'awaiting_approval' };

/** POST /api/auth/signout: where to send the browser to sign out at the company's provider too, if anywhere. */
export interface SignOutResponse {
  providerSignOutUrl: string | null;
}

/** GET /api/admin/users */
export interface UserListResponse {
  users: AdminUserView[];
  /** Pass as `after` to fetch the next page; null on the last page. */
  nextCursor: string | null;
}

/** POST /api/admin/users */
export interface CreateUserRequest {
  username: string;
  displayName?: string;
  role: Role;
}
export interface CreateUserResponse {
  user: PublicUser;
  enrollment: EnrollmentLink;
  /**
   * An admin asked for while the two-person rule applies: the user is created with the user
   * role, and their promotion to admin waits for a second admin's approval.
   */
  pendingChange?: PendingChangeView;
}

/** PATCH /api/admin/users/:id: the user as the change left them. */
export interface UserResponse {
  user: PublicUser;
}

/** PATCH /api/admin/users/:id */
export interface UpdateUserRequest {
  status?: UserStatus;
  role?: Role;
}

/** POST /api/admin/users/:id/enrollment */
export type NewEnrollmentResponse = EnrollmentLink;
