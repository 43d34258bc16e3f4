import type { Page } from '../ui.ts';
import { pageHead } from '../ui.ts';

export const explorePage: Page = {
  title: 'Explore',
  render(root) {
    root.append(pageHead('Explore'));
  },
};
