import type { Locator } from 'playwright-core';
import { expect } from 'vitest';

interface Wait {
  readonly timeout?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

const matches = (actual: string, expected: string | RegExp) =>
  typeof expected === 'string' ? actual.includes(expected) : expected.test(actual);

/**
 * Web-first assertions for playwright-core locators under Vitest: each one retries until the page
 * shows what is expected or the timeout passes (Playwright's own `expect` comes with its test
 * runner, which these tests do not use).
 */
export function shows(locator: Locator) {
  const poll = <T>(read: () => Promise<T>, wait: Wait = {}) =>
    expect.poll(read, { timeout: wait.timeout ?? DEFAULT_TIMEOUT_MS, interval: 100 });
  const text = async () =>
    (await locator.count()) === 1
      ? ((await locator.textContent()) ?? '')
      : `<${await locator.count()} elements>`;
  return {
    visible: (wait: Wait = {}) =>
      locator.waitFor({ state: 'visible', timeout: wait.timeout ?? DEFAULT_TIMEOUT_MS }),
    hidden: (wait: Wait = {}) =>
      locator.waitFor({ state: 'hidden', timeout: wait.timeout ?? DEFAULT_TIMEOUT_MS }),
    count: (n: number, wait?: Wait) => poll(() => locator.count(), wait).toBe(n),
    containsText: async (expected: string | RegExp, wait?: Wait) =>
      poll(async () => {
        const actual = await text();
        return matches(actual, expected) ? expected : actual;
      }, wait).toEqual(expected),
    lacksText: async (unexpected: string | RegExp) => expect(matches(await text(), unexpected)).toBe(false),
    hasText: (expected: string, wait?: Wait) => poll(() => text(), wait).toBe(expected),
    value: (expected: string, wait?: Wait) => poll(() => locator.inputValue(), wait).toBe(expected),
    attribute: (name: string, expected: string, wait?: Wait) =>
      poll(() => locator.getAttribute(name), wait).toBe(expected),
    disabled: (wait?: Wait) => poll(() => locator.isDisabled(), wait).toBe(true),
    focused: (wait?: Wait) =>
      poll(
        () =>
          // Typed by hand: this library is compiled without the DOM's types.
          locator.evaluate((element: unknown) => {
            const node = element as { ownerDocument: { activeElement: unknown } };
            return node === node.ownerDocument.activeElement;
          }),
        wait,
      ).toBe(true),
  };
}
