import type { Page } from '../ui.ts';
import { pageHead } from '../ui.ts';

export const flowsPage: Page = {
  title: 'Flows',
  render(root) {
    root.append(pageHead('Flows'));
  },
};
