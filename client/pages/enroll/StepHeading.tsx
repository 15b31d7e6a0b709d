import { onMount, type Component, type JSX } from 'solid-js';

/** What each enrollment step after the first is given. */
export interface EnrollmentStepProps {
  /** The enrollment link's token. */
  token: string;
  /** Take the focus when shown: true when this step replaced another one. */
  focus: boolean;
}

/** A step's heading; it takes the focus when `focus` is set (the step replaced another one), so the change is read out. */
export const StepHeading: Component<{ focus: boolean; children: JSX.Element }> = (props) => {
  let heading!: HTMLHeadingElement;
  onMount(() => props.focus && heading.focus());

  return (
    <h2 ref={heading} tabIndex={-1}>
      {props.children}
    </h2>
  );
};
