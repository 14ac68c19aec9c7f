// The AWS SDK for JavaScript v3 with its default credential chain: prints
// `js ARN` of GetCallerIdentity, or `js-error MESSAGE`.
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");

const client = new STSClient({
  region: "eu-west-1",
  endpoint: process.env.AWS_ENDPOINT_URL_STS,
});
client.send(new GetCallerIdentityCommand({})).then(
  (r) => console.log("js " + r.Arn),
  (e) => console.log("js-error " + String(e.message).replace(/\n/g, " ")),
);
