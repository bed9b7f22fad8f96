/**
 * Claude Code's Agent SDK and the MCP SDK add about 50 MB to the process once loaded. They load on
 * SDK mode's first use (a request, or the warm pool starting), so a proxy used in API mode only stays
 * small. Every path into an agent awaits `loadAgentModules()` first; after that, `agentModules()`
 * hands them out synchronously.
 */
import type * as AgentSdk from '@anthropic-ai/claude-agent-sdk';
import type * as McpServerModule from '@modelcontextprotocol/sdk/server/mcp.js';
import type * as McpTypes from '@modelcontextprotocol/sdk/types.js';

export interface AgentModules {
  sdk: typeof AgentSdk;
  mcp: typeof McpServerModule;
  mcpTypes: typeof McpTypes;
}

let loading: Promise<AgentModules> | undefined;
let loaded: AgentModules | undefined;

export function loadAgentModules(): Promise<AgentModules> {
  loading ??= Promise.all([
    import('@anthropic-ai/claude-agent-sdk'),
    import('@modelcontextprotocol/sdk/server/mcp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]).then(([sdk, mcp, mcpTypes]) => {
    loaded = { sdk, mcp, mcpTypes };
    return loaded;
  });
  return loading;
}

export function agentModules(): AgentModules {
  if (!loaded) throw new Error('internal: the Agent SDK was used before loadAgentModules() resolved');
  return loaded;
}
