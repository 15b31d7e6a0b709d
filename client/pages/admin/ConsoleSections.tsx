import { A } from '@solidjs/router';
import { For, type Component } from 'solid-js';
import './console.css';

const SECTIONS = [
  { path: '/admin', title: 'Users' },
  { path: '/admin/models', title: 'Models' },
  { path: '/admin/live', title: 'Live' },
  { path: '/admin/overview', title: 'Overview' },
] as const;

/** The admin console's parts, one link each; the current one is marked for screen readers too. */
export const ConsoleSections: Component = () => (
  <nav class="console-sections" aria-label="Admin console">
    <ul>
      <For each={SECTIONS}>
        {(section) => (
          <li>
            <A href={section.path} end>
              {section.title}
            </A>
          </li>
        )}
      </For>
    </ul>
  </nav>
);
