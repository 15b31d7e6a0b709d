import { createUniqueId, For, Show, type Component } from 'solid-js';
import type { ModelView } from '../../../shared/api.ts';
import { Badge } from '../../components/Badge.tsx';
import { formatCountdown } from '../../lib/countdown.ts';
import { useModelAccess } from '../../modelAccess.tsx';

export interface ModelPickerProps {
  models: readonly ModelView[];
  selectedId: string | undefined;
  onSelect: (id: string) => void;
}

/** One radio per model, named by its display name alone; the rest describes it. */
export const ModelPicker: Component<ModelPickerProps> = (props) => {
  const headingId = createUniqueId();
  return (
    <div class="panel model-picker">
      <h2 id={headingId}>Model</h2>
      <Show when={props.models.length > 0} fallback={<p class="empty">No models are available to you yet.</p>}>
        <div role="radiogroup" aria-labelledby={headingId} class="model-list">
          <For each={props.models}>
            {(model) => (
              <ModelOption
                model={model}
                selected={model.id === props.selectedId}
                onSelect={() => props.onSelect(model.id)}
              />
            )}
          </For>
        </div>
      </Show>
    </div>
  );
};

const ModelOption: Component<{ model: ModelView; selected: boolean; onSelect: () => void }> = (props) => {
  const access = useModelAccess();
  const inputId = createUniqueId();
  const detailsId = createUniqueId();
  const restricted = () => props.model.tier === 'restricted';
  const unlocked = () => access.isUnlocked(props.model);

  return (
    <div class="model-option" classList={{ selected: props.selected, locked: !unlocked() }}>
      <input
        type="radio"
        name="model"
        id={inputId}
        value={props.model.id}
        checked={props.selected}
        aria-describedby={detailsId}
        onChange={() => props.onSelect()}
      />
      <div class="model-body">
        <label for={inputId} class="model-name">
          {props.model.displayName}
        </label>
        <div id={detailsId} class="model-details">
          <div class="badges">
            <Badge kind="tier" value={props.model.tier} />
            <Show when={props.model.demo}>
              <Badge kind="flag" value="demo" />
            </Show>
            <Show when={restricted()}>
              <span class="lock-state" classList={{ unlocked: unlocked() }}>
                {unlocked() ? `Unlocked · ${formatCountdown(access.msLeft() / 1000)}` : 'Locked'}
              </span>
            </Show>
          </div>
          <p class="muted model-description">{props.model.description}</p>
        </div>
      </div>
    </div>
  );
};
