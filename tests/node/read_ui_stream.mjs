// Reads a relay's UI message stream with the AI SDK itself: the transport
// useChat uses (DefaultChatTransport: POST the messages, parse the SSE, check
// every chunk against the package's chunk schema), then readUIMessageStream
// (the package's own reducer from chunks to a UIMessage).
//
// usage: node read_ui_stream.mjs PACKAGE URL MESSAGES_JSON
// prints one JSON object: {version, chunks, message, errors}
import { createRequire } from "node:module";

const [pkg, url, messagesJson] = process.argv.slice(2);
const ai = await import(pkg);
const version = createRequire(import.meta.url)(`${pkg}/package.json`).version;

const errors = [];
const transport = new ai.DefaultChatTransport({ api: url });
const chunks = [];
let message = null;
try {
  const stream = await transport.sendMessages({
    trigger: "submit-message",
    chatId: "chat-1",
    messageId: undefined,
    messages: JSON.parse(messagesJson),
    abortSignal: undefined,
  });
  const recorded = stream.pipeThrough(
    new TransformStream({
      transform(chunk, controller) {
        chunks.push(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
  for await (const snapshot of ai.readUIMessageStream({
    stream: recorded,
    onError: (error) => errors.push(String(error?.message ?? error)),
  })) {
    message = snapshot;
  }
} catch (error) {
  errors.push(`thrown: ${error?.message ?? error}`);
}
process.stdout.write(JSON.stringify({ version, chunks, message, errors }) + "\n");
