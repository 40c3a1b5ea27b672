// Open (or comment on) the drift issue when the check failed; close it once the check passes again.
const marker = process.env.MARKER;
const { owner, repo } = context.repo;
const open = await github.paginate(github.rest.issues.listForRepo, {
  owner, repo, state: 'open', per_page: 100,
});
const existing = open.find((issue) => !issue.pull_request && (issue.body || '').includes(marker));
if (process.env.DRIFT_OUTCOME === 'failure') {
  const text = `The scheduled drift check of stack \`${process.env.STACK}\` failed: the live `
    + `platform differs from the code, or the check could not run. Run log: ${process.env.RUN_URL}`;
  if (existing) {
    await github.rest.issues.createComment({
      owner, repo, issue_number: existing.number, body: text,
    });
  } else {
    await github.rest.issues.create({
      owner,
      repo,
      title: `Drift detected in stack ${process.env.STACK}`,
      body: `${marker}\n${text}`,
      labels: ['drift'],
    });
  }
} else if (existing) {
  await github.rest.issues.createComment({
    owner, repo, issue_number: existing.number, body: `No drift any more: ${process.env.RUN_URL}`,
  });
  await github.rest.issues.update({ owner, repo, issue_number: existing.number, state: 'closed' });
}
