import { useAction, useSubmission } from '@solidjs/router';
import { createSignal, createUniqueId, Show, type Component } from 'solid-js';
import type { CreateModelRequest } from '../../../../shared/api.ts';
import { addModel } from '../../../api/adminModels.ts';
import { isStoppedByUser } from '../../../lib/securityKey.ts';
import { ErrorAlert } from '../../../components/ErrorAlert.tsx';
import { settled } from '../../../lib/settled.ts';
import { ModelFields, readModelForm } from './ModelForm.tsx';

/** Adds a model to the catalog. It is enabled at once; test its connection from the table. */
export const AddModelForm: Component = () => {
  const submission = useSubmission(addModel);
  const add = useAction(addModel);
  const headingId = createUniqueId();
  // A new blank form after each add (reset() would clear the defaults Solid set as properties).
  const [generation, setGeneration] = createSignal(1);

  async function onSubmit(event: SubmitEvent & { currentTarget: HTMLFormElement }) {
    event.preventDefault();
    if (submission.pending) return;
    const { upstreamModel, ...values } = readModelForm(event.currentTarget);
    // Left blank, the upstream name defaults to the id on the server.
    const model: CreateModelRequest = upstreamModel ? { ...values, upstreamModel } : values;
    const added = await settled(add(model));
    if (!added) return;
    setGeneration(generation() + 1);
  }

  return (
    <section class="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>Add model</h2>
      <form class="model-form" aria-labelledby={headingId} onSubmit={onSubmit}>
        <Show when={generation()} keyed>
          {(_blank) => <ModelFields />}
        </Show>
        <div class="form-actions">
          <button type="submit" class="primary" aria-disabled={submission.pending}>
            Add model
          </button>
        </div>
      </form>
      {/* A cancelled key touch leaves the form as it was: nothing to report. */}
      <ErrorAlert error={isStoppedByUser(submission.error) ? undefined : submission.error} />
    </section>
  );
};
