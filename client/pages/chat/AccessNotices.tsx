import { Show, type Component } from 'solid-js';
import { Alert } from '../../components/ErrorAlert.tsx';
import { useModelAccess } from '../../modelAccess.tsx';

/** Why restricted access ended, or what the server said about keys; quieter news as a status. */
export const AccessNotices: Component = () => {
  const access = useModelAccess();
  const notice = () => access.notice();
  return (
    <div class="access-notices">
      <Show when={notice()?.tone === 'alert' ? notice() : undefined}>
        {(alert) => (
          <Alert>
            <p>{alert().text}</p>
          </Alert>
        )}
      </Show>
      <p class="access-status" role="status">
        {notice()?.tone === 'status' ? notice()?.text : ''}
      </p>
    </div>
  );
};
