/** Users, sessions, sign-in and enrollment: request and response types of the JSON API. */
export const ROLES = ['user', 'admin', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const USER_STATUSES = ['active', 'disabled'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

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
