/**
 * Connects a call, prints its id, then idles until killed: the parent test SIGKILLs it to
 * play a browser tab that crashes or loses the network (no DTLS close, no SCTP abort).
 * Usage: tsx vanishing-client.ts <baseUrl> <clientSecret>
 */
import { TestClient } from "./client.js";

const [baseUrl, secret] = process.argv.slice(2);
if (!baseUrl || !secret) throw new Error("usage: vanishing-client.ts <baseUrl> <secret>");
const client = await TestClient.connect(baseUrl, secret);
process.stdout.write(`${client.callId}\n`);
setInterval(() => {}, 60_000);
