import type { Component } from 'solid-js';

export const Loading: Component = () => (
  <p class="loading" role="status" aria-busy="true">
    Loading…
  </p>
);
