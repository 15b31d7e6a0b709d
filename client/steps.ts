import { useNavigate } from '@solidjs/router';
import type { StepResponse } from '../shared/api.ts';
import { useSession } from './session.tsx';

/**
 * Follows the server's answer to a completed sign-in or enrollment step. `done` means the
 * session is fully signed in; later steps (the security key) arrive as other `next` values.
 */
export function useFollowStep(): (step: StepResponse, destination: string) => Promise<void> {
  const session = useSession();
  const navigate = useNavigate();
  return async (step, destination) => {
    switch (step.next) {
      case 'done':
        await session.refresh();
        navigate(destination, { replace: true });
        return;
    }
  };
}
