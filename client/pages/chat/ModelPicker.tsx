import { Select } from '@kobalte/core/select';
import { createMemo, Show, type Component } from 'solid-js';
import type { ModelTier, ModelView } from '../../../shared/api.ts';
import { useModelAccess } from '../../modelAccess.tsx';

export interface ModelPickerProps {
  models: readonly ModelView[];
  selectedId: string | undefined;
  onSelect: (id: string) => void;
}

interface ModelGroup {
  label: string;
  tier: ModelTier;
  models: ModelView[];
}

const GROUPS: ReadonlyArray<Omit<ModelGroup, 'models'>> = [
  { label: 'Standard', tier: 'standard' },
  { label: 'Restricted', tier: 'restricted' },
];

/**
 * The model picker in the chat header: a listbox grouped by tier, each model with its tier,
 * whether it is locked, and a "demo" tag for the offline demo models.
 */
export const ModelPicker: Component<ModelPickerProps> = (props) => {
  // The list is read again now and then (a reconnect, say): the same models keep the same
  // options, so an open list keeps its focus and the arrows keep working.
  const groups = createMemo(
    (): ModelGroup[] =>
      GROUPS.map((group) => ({ ...group, models: props.models.filter((model) => model.tier === group.tier) })).filter(
        (group) => group.models.length > 0,
      ),
    [],
    { equals: sameGroups },
  );
  const selected = () => props.models.find((model) => model.id === props.selectedId) ?? null;

  return (
    <Show when={props.models.length > 0} fallback={<p class="chat-no-models muted">No models are available to you yet.</p>}>
      <Select<ModelView, ModelGroup>
        class="model-picker"
        options={groups()}
        optionValue="id"
        optionTextValue="displayName"
        optionGroupChildren="models"
        value={selected()}
        onChange={(model) => model && props.onSelect(model.id)}
        disallowEmptySelection
        gutter={6}
        placement="bottom-start"
        sectionComponent={(section) => <Select.Section class="model-section">{section.section.rawValue.label}</Select.Section>}
        itemComponent={(item) => (
          // Named by all it shows: the model's name, then its tier, lock state and "demo".
          <Select.Item item={item.item} class="model-option">
            <span class="model-option-name">{item.item.rawValue.displayName}</span>
            <span class="model-option-tags">
              <ModelTags model={item.item.rawValue} />
            </span>
            <Select.ItemIndicator class="model-option-check">✓</Select.ItemIndicator>
          </Select.Item>
        )}
      >
        <Select.Label class="visually-hidden">Model</Select.Label>
        <Select.Trigger class="model-trigger">
          <Select.Value<ModelView> class="model-trigger-value">
            {(state) => (
              <>
                <span class="model-trigger-name">{state.selectedOption().displayName}</span>
                <ModelTags model={state.selectedOption()} compact />
              </>
            )}
          </Select.Value>
          <Select.Icon class="model-trigger-icon">▾</Select.Icon>
        </Select.Trigger>
        <Select.Portal>
          <Select.Content class="model-menu">
            <Select.Listbox class="model-listbox" onFocus={focusHighlightedOption} />
          </Select.Content>
        </Select.Portal>
      </Select>
    </Show>
  );
};

/**
 * Opening, Kobalte's Select focuses the list itself and then its highlighted option, but
 * the two can come in the other order (the option's focus runs first when the page is still
 * settling): the list keeps the focus, and Enter does nothing. The option takes it back.
 */
function focusHighlightedOption(event: FocusEvent & { currentTarget: HTMLElement }) {
  const list = event.currentTarget;
  queueMicrotask(() => {
    if (document.activeElement !== list) return;
    list.querySelector<HTMLElement>('[role="option"][data-highlighted]')?.focus({ preventScroll: true });
  });
}

/** The same groups of the same models, field for field (what the options show comes from them). */
function sameGroups(before: readonly ModelGroup[], after: readonly ModelGroup[]): boolean {
  return (
    before.length === after.length &&
    before.every((group, index) => {
      const other = after[index]!;
      return (
        group.tier === other.tier &&
        group.models.length === other.models.length &&
        group.models.every((model, at) => sameModel(model, other.models[at]!))
      );
    })
  );
}

function sameModel(before: ModelView, after: ModelView): boolean {
  const keys = Object.keys(before) as Array<keyof ModelView>;
  return keys.length === Object.keys(after).length && keys.every((key) => before[key] === after[key]);
}

/** Tier, lock state and "demo", as small tags; `compact` (the trigger) shows only what matters. */
const ModelTags: Component<{ model: ModelView; compact?: boolean }> = (props) => {
  const access = useModelAccess();
  const restricted = () => props.model.tier === 'restricted';
  return (
    <span class="model-tags">
      <Show when={!props.compact || restricted()}>
        <span class={`tag tag-${props.model.tier}`}>{restricted() ? 'Restricted' : 'Standard'}</span>
      </Show>
      <Show when={restricted()}>
        <span class="tag tag-lock" classList={{ open: access.isUnlocked(props.model) }}>
          {access.isUnlocked(props.model) ? 'unlocked' : 'locked'}
        </span>
      </Show>
      <Show when={props.model.demo}>
        <span class="tag tag-demo" title="Offline demo model, not a real AI">
          demo
        </span>
      </Show>
    </span>
  );
};
