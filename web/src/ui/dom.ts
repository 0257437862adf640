/** The element with `id`, checked to be of `type`; a missing element is a build bug. */
export function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) {
    throw new Error(`index.html has no <${type.name}> with id "${id}".`);
  }
  return element;
}

/** Shows or hides an element, moving focus along if it was inside. */
export function setHidden(element: HTMLElement, hidden: boolean, focusNext?: HTMLElement): void {
  if (element.hidden === hidden) return;
  const hadFocus = hidden && element.contains(document.activeElement);
  element.hidden = hidden;
  if (hadFocus && focusNext && !focusNext.hidden) focusNext.focus();
}

/**
 * Made once, when the module loads: the first `Intl.NumberFormat` of a page costs ~10 ms of
 * locale data in Chromium, which used to land on the Connect click (the usage reset).
 */
const COUNT_FORMAT = new Intl.NumberFormat("en-US");

/** `1,234` style thousands, independent of the page locale for stable test reads. */
export function formatCount(value: number): string {
  return COUNT_FORMAT.format(value);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
