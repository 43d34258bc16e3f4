import type { Page } from '../ui.ts';
import { pageHead } from '../ui.ts';

export const tenantPage: Page = {
  title: 'Tenant',
  render(root) {
    root.append(pageHead('Tenant'));
  },
};
