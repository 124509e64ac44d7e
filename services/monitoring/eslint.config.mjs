import base from '../../eslint.config.mjs';

export default [
  ...base,
  // The dashboard's scripts run in the browser; tsc (checkJs with the DOM library, in
  // dashboard/tsconfig.json) already refuses names that do not exist there.
  { files: ['dashboard/**/*.js'], rules: { 'no-undef': 'off' } },
];
