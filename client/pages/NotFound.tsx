import { A } from '@solidjs/router';
import type { Component } from 'solid-js';
import { PageTitle } from '../components/PageTitle.tsx';

export const NotFound: Component = () => (
  <section class="narrow">
    <PageTitle>Page not found</PageTitle>
    <p>There is nothing at this address.</p>
    <p>
      <A href="/">Back to Home</A>
    </p>
  </section>
);
