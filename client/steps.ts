import { useNavigate } from '@solidjs/router';
import type { StepResponse } from '../shared/api.ts';
import { useSession } from './session.tsx';

/** Where each answer to a sign-in or enrollment step leads. */
export interface StepRoutes {
  /** Where to go once fully signed in. */
  destination: string;
  /** Shows the security-key step, on the same page. */
  securityKey: () => void;
}

/** Follows the server's answer to a completed sign-in or enrollment step. */
export function useFollowStep(): (step: StepResponse, routes: StepRoutes) => Promise<void> {
  const session = useSession();
  const navigate = useNavigate();
  return async (step, routes) => {
    switch (step.next) {
      case 'done':
        await session.refresh();
        navigate(routes.destination, { replace: true });
        return;
      case 'security_key':
        routes.securityKey();
        return;
    }
  };
}
