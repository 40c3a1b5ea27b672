// Find the pull request's comment that starts with MARKER and replace its body, or create one.
// With ONLY_UPDATE=true an absent comment stays absent (used to mark an old failure as resolved).
const fs = require('fs');
const marker = process.env.MARKER;
const text = process.env.BODY_FILE
  ? fs.readFileSync(process.env.BODY_FILE, 'utf8')
  : process.env.BODY;
const body = `${marker}\n${text}`;
const { owner, repo } = context.repo;
const issue_number = context.issue.number;
const comments = await github.paginate(github.rest.issues.listComments, {
  owner, repo, issue_number, per_page: 100,
});
const existing = comments.find((comment) => (comment.body || '').startsWith(marker));
if (existing) {
  await github.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body });
} else if (process.env.ONLY_UPDATE !== 'true') {
  await github.rest.issues.createComment({ owner, repo, issue_number, body });
}
