// Uniswap V2 core (its published 1.0.1 artifacts) driven by ethers v6 and viem against a node
// (issue #18): every transaction with the gas limit the client chooses itself. Prints one JSON
// object of check results on stdout; tests/integration/test_clients.py asserts each of them.
//
// usage: node uniswap_ethers.mjs <http rpc url> <ws rpc url> <private key> <node_modules dir>
import { createRequire } from "node:module";
import path from "node:path";

const [rpcUrl, wsUrl, key, modules] = process.argv.slice(2);
const require = createRequire(path.join(modules, "noop.js"));
const { ethers } = require("ethers");
const viem = require("viem");
const { privateKeyToAccount } = require("viem/accounts");
const artifact = (name) => require(`@uniswap/v2-core/build/${name}.json`);

const results = {};
const provider = new ethers.JsonRpcProvider(rpcUrl, undefined, { pollingInterval: 200 });
const wallet = new ethers.NonceManager(new ethers.Wallet(key, provider));
const me = await wallet.getAddress();

async function sent(promise) {
  // Every tx.wait() right after start-up: a replacement error or a failed status throws here.
  const tx = await promise;
  const receipt = await tx.wait();
  return { tx, receipt };
}

async function deploy(name, ...args) {
  const { abi, bytecode } = artifact(name);
  const factory = new ethers.ContractFactory(abi, "0x" + bytecode.replace(/^0x/, ""), wallet);
  const contract = await factory.deploy(...args);
  await contract.waitForDeployment();
  return contract;
}

async function estimatedAndUsed(contract, method, args) {
  // The estimate the client is about to use, against what the mined transaction used.
  const estimated = await contract[method].estimateGas(...args);
  const { tx, receipt } = await sent(contract[method](...args));
  return {
    estimated: Number(estimated),
    gasLimit: Number(tx.gasLimit),
    used: Number(receipt.gasUsed),
    status: receipt.status,
  };
}

// 1. The first transfer after start-up: block 1's deposit must not look like its replacement.
const first = await sent(wallet.sendTransaction({ to: ethers.ZeroAddress.replace(/0$/, "1"), value: 1n }));
results.first_transfer_wait = first.receipt.status === 1;

// 2. Tokens, factory, pair.
const supply = 10n ** 24n;
const tokenA = await deploy("ERC20", supply);
const tokenB = await deploy("ERC20", supply);
const factory = await deploy("UniswapV2Factory", me);
await sent(factory.createPair(await tokenA.getAddress(), await tokenB.getAddress()));
const pairAddress = await factory.getPair(await tokenA.getAddress(), await tokenB.getAddress());
const pair = new ethers.Contract(pairAddress, artifact("UniswapV2Pair").abi, wallet);
results.pair_created = pairAddress !== ethers.ZeroAddress;
const token0Address = await pair.token0();
const [token0, token1] =
  token0Address === (await tokenA.getAddress()) ? [tokenA, tokenB] : [tokenB, tokenA];

// 3. Liquidity.
const liquidity0 = 10n ** 21n;
const liquidity1 = 4n * 10n ** 21n;
await sent(token0.transfer(pairAddress, liquidity0));
await sent(token1.transfer(pairAddress, liquidity1));
results.mint = await estimatedAndUsed(pair, "mint", [me]);
const [r0, r1] = await pair.getReserves();
results.reserves_after_mint = r0 === liquidity0 && r1 === liquidity1;

// 4. A swap with the constant-product amount, and one asking one unit more (UniswapV2: K).
const amountIn = 10n ** 18n;
const amountOut = (amountIn * 997n * r1) / (r0 * 1000n + amountIn * 997n);
await sent(token0.transfer(pairAddress, amountIn));
try {
  await pair.swap.estimateGas(0n, amountOut + 1n, me, "0x");
  results.swap_k_reason = null;
} catch (error) {
  results.swap_k_reason = error.reason ?? error.shortMessage ?? String(error);
}
const balanceBefore = await token1.balanceOf(me);
results.swap = await estimatedAndUsed(pair, "swap", [0n, amountOut, me, "0x"]);
results.swap_amount_out = (await token1.balanceOf(me)) - balanceBefore === amountOut;

// 5. sync, seconds after the last update: the price accumulators are written in its block.
await new Promise((resolve) => setTimeout(resolve, 1500));
const ws = new ethers.WebSocketProvider(wsUrl);
const wsPair = new ethers.Contract(pairAddress, artifact("UniswapV2Pair").abi, ws);
const syncSeen = new Promise((resolve) => wsPair.once("Sync", (r0_, r1_) => resolve([r0_, r1_])));
await new Promise((resolve) => setTimeout(resolve, 500));
await sent(token0.transfer(pairAddress, 5n));
results.sync = await estimatedAndUsed(pair, "sync", []);
const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 15000));
const pushed = await Promise.race([syncSeen, timeout]);
results.ws_sync_event = pushed !== null && pushed[0] === (await pair.getReserves())[0];
await ws.destroy();

// 6. Swap and Sync over getLogs.
const swaps = await pair.queryFilter(pair.filters.Swap(), 0, "latest");
const syncs = await pair.queryFilter(pair.filters.Sync(), 0, "latest");
results.getlogs_swap = swaps.length === 1 && swaps[0].args.amount1Out === amountOut;
results.getlogs_sync = syncs.length >= 3;

// 7. Fee history.
// The node answers the reference's stub (docs/rpc.md): `count` base fees, not `count` + 1.
const history = await provider.send("eth_feeHistory", ["0x4", "latest", []]);
results.fee_history_base_fees = history.baseFeePerGas;
results.fee_history =
  history.baseFeePerGas.length === 4 && history.baseFeePerGas.every((fee) => BigInt(fee) > 0n);

// 8. 20 back-to-back transfers with explicit nonces: all sent at once (each estimated with its
// own nonce, none waiting for the one before), then waited for together.
const signer = new ethers.Wallet(key, provider);
const first20 = await provider.getTransactionCount(me, "pending");
const token1Plain = token1.connect(signer);
const burst = await Promise.all(
  Array.from({ length: 20 }, (_, i) =>
    token1Plain.transfer(ethers.ZeroAddress.replace(/0$/, "2"), 1n, { nonce: first20 + i }),
  ),
);
const burstReceipts = await Promise.all(burst.map((tx) => tx.wait()));
results.burst_20 = burstReceipts.every((r) => r.status === 1);
results.burst_blocks = new Set(burstReceipts.map((r) => r.blockNumber)).size;
wallet.reset(); // the NonceManager did not see these nonces

// 9. viem: a transfer waited for with waitForTransactionReceipt, the pair's logs and fee history.
const chain = { id: Number((await provider.getNetwork()).chainId), name: "zkos", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } };
const account = privateKeyToAccount(key);
const transport = viem.http(rpcUrl);
const wallet2 = viem.createWalletClient({ account, chain, transport });
const client = viem.createPublicClient({ chain, transport, pollingInterval: 200 });
const hash = await wallet2.sendTransaction({ to: "0x0000000000000000000000000000000000000003", value: 1n });
const viemReceipt = await client.waitForTransactionReceipt({ hash });
results.viem_wait = viemReceipt.status === "success";
const viemSwaps = await client.getContractEvents({
  address: pairAddress,
  abi: artifact("UniswapV2Pair").abi,
  eventName: "Swap",
  fromBlock: 0n,
});
results.viem_getlogs_swap = viemSwaps.length === 1;
try {
  await client.simulateContract({
    account,
    address: pairAddress,
    abi: artifact("UniswapV2Pair").abi,
    functionName: "swap",
    args: [0n, 1n, me, "0x"],
  });
  results.viem_revert_reason = null;
} catch (error) {
  results.viem_revert_reason = error.cause?.reason ?? error.shortMessage ?? String(error);
}
const viemHistory = await client.getFeeHistory({ blockCount: 2, rewardPercentiles: [] });
results.viem_fee_history =
  viemHistory.baseFeePerGas.length === 2 &&
  viemHistory.baseFeePerGas.every((fee) => typeof fee === "bigint" && fee > 0n) &&
  viemHistory.gasUsedRatio.length === 2;

// 10. viem over a WebSocket: watch the pair's Sync events, then sync() with viem's own gas
// estimate, a second after the last update (price accumulators written in its block).
const wsClient = viem.createPublicClient({ chain, transport: viem.webSocket(wsUrl) });
const viemSyncSeen = new Promise((resolve) => {
  const unwatch = wsClient.watchContractEvent({
    address: pairAddress,
    abi: artifact("UniswapV2Pair").abi,
    eventName: "Sync",
    onLogs: (logs) => {
      unwatch();
      resolve(logs[0]);
    },
  });
});
await new Promise((resolve) => setTimeout(resolve, 1200));
const viemSyncHash = await wallet2.writeContract({
  address: pairAddress,
  abi: artifact("UniswapV2Pair").abi,
  functionName: "sync",
  args: [],
});
const viemSyncReceipt = await client.waitForTransactionReceipt({ hash: viemSyncHash });
const viemSyncTx = await client.getTransaction({ hash: viemSyncHash });
results.viem_sync = {
  gasLimit: Number(viemSyncTx.gas),
  used: Number(viemSyncReceipt.gasUsed),
  status: viemSyncReceipt.status === "success" ? 1 : 0,
};
const viemPushed = await Promise.race([
  viemSyncSeen,
  new Promise((resolve) => setTimeout(() => resolve(null), 15000)),
]);
results.viem_ws_sync_event =
  viemPushed !== null && viemPushed.transactionHash === viemSyncHash;
await wsClient.transport.getRpcClient?.().then((rpc) => rpc.close());

process.stdout.write(JSON.stringify(results) + "\n");
process.exit(0);
