/* flowworker: see flowworker.h. */
#include "flowworker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "conn.h"

/* The mixer's multipliers (odd, from MurmurHash3's finaliser and the golden ratio). */
#define FLOW_K_PORT 0x9e3779b1u
#define FLOW_K_MIX1 0x85ebca6bu
#define FLOW_K_MIX2 0xc2b2ae35u
#define FLOW_MIX_SHIFT 16

/* IPv4 header offsets the program reads (from the network header). */
#define IP_OFF_FRAG 6
#define IP_OFF_PROTO 9
#define IP_OFF_SADDR 12
#define IP_OFF_DADDR 16
#define IP_FRAG_OFFSET_MASK 0x1fff
#define L4_OFF_SPORT 0
#define L4_OFF_DPORT 2
#define ICMP_HDR_LEN 8

static uint32_t flow_hash(uint32_t addr, uint32_t port)
{
    uint32_t x = addr ^ (port * FLOW_K_PORT);
    x *= FLOW_K_MIX1;
    x ^= x >> FLOW_MIX_SHIFT;
    x *= FLOW_K_MIX2;
    return x >> FLOW_MIX_SHIFT;
}

void flow_map_init(struct flow_map *m, unsigned n_workers, const struct service_table *services)
{
    m->n_workers = n_workers ? n_workers : 1;
    m->mask = 0xffffffffu;
    m->use_port = true;
    for (unsigned i = 0; i < services->n; i++) {
        const struct service *svc = &services->svc[i];
        if (!svc->persist_timeout)
            continue;
        m->mask &= ntohl(svc->persist_mask);
        m->use_port = false;
    }
}

bool flow_map_equal(const struct flow_map *a, const struct flow_map *b)
{
    return a->n_workers == b->n_workers && a->mask == b->mask && a->use_port == b->use_port;
}

unsigned flow_worker(const struct flow_map *m, uint8_t proto, uint32_t caddr, uint16_t cport)
{
    uint32_t port = m->use_port && proto == IPPROTO_TCP ? ntohs(cport) : 0;
    return flow_hash(ntohl(caddr) & m->mask, port) % m->n_workers;
}

unsigned flow_worker_of_entry(const struct flow_map *m, const struct conn *c)
{
    return flow_worker(m, c->proto, c->caddr, (c->flags & CONN_F_TEMPLATE) ? 0 : c->cport);
}

/* A tiny assembler: forward jumps to labels, patched once every label is placed. */
enum label { L_ICMP, L_ICMP_ERROR, L_OUTER_ADDR, L_PORT_OUTER, L_PORT_INNER, L_MIX, L_COUNT };
/* Scratch memory of the program. */
enum { M_PROTO, M_ADDR };

struct fixup {
    unsigned insn;
    enum label to;
    bool jt; /* patch the true branch (or the false one) */
};

struct prog {
    struct sock_filter *insn;
    unsigned n;
    int at[L_COUNT];
    struct fixup fix[FLOW_PROG_MAX];
    unsigned n_fix;
};

static void emit(struct prog *p, uint16_t code, uint32_t k)
{
    p->insn[p->n++] = (struct sock_filter){ .code = code, .k = k };
}

/* A conditional jump: to `to` when true (or false), falling through otherwise. */
static void emit_jump_if(struct prog *p, uint16_t code, uint32_t k, enum label to, bool when)
{
    p->fix[p->n_fix++] = (struct fixup){ .insn = p->n, .to = to, .jt = when };
    emit(p, BPF_JMP | code | BPF_K, k);
}

static void emit_goto(struct prog *p, enum label to)
{
    p->fix[p->n_fix++] = (struct fixup){ .insn = p->n, .to = to, .jt = true };
    emit(p, BPF_JMP | BPF_JA, 0);
}

static void place(struct prog *p, enum label l)
{
    p->at[l] = (int)p->n;
}

static void link_jumps(struct prog *p)
{
    for (unsigned i = 0; i < p->n_fix; i++) {
        struct sock_filter *f = &p->insn[p->fix[i].insn];
        unsigned offset = (unsigned)p->at[p->fix[i].to] - p->fix[i].insn - 1;
        if (BPF_OP(f->code) == BPF_JA)
            f->k = offset;
        else if (p->fix[i].jt)
            f->jt = (uint8_t)offset;
        else
            f->jf = (uint8_t)offset;
    }
}

/* A = client address, M[proto] = protocol, X = offset of the L4 header: key on the client's
 * port at [X + port_off] for TCP when the map says so, else on the address alone. */
static void emit_key(struct prog *p, const struct flow_map *m, unsigned port_off, enum label port_label)
{
    emit(p, BPF_ALU | BPF_AND | BPF_K, m->mask);
    if (!m->use_port) {
        emit_goto(p, L_MIX);
        return;
    }
    emit(p, BPF_ST, M_ADDR);
    emit(p, BPF_LD | BPF_MEM, M_PROTO);
    emit_jump_if(p, BPF_JEQ, IPPROTO_TCP, port_label, true);
    emit(p, BPF_LD | BPF_MEM, M_ADDR);
    emit_goto(p, L_MIX);
    place(p, port_label);
    emit(p, BPF_LD | BPF_H | BPF_IND, port_off);
    emit(p, BPF_ALU | BPF_MUL | BPF_K, FLOW_K_PORT);
    emit(p, BPF_MISC | BPF_TAX, 0);
    emit(p, BPF_LD | BPF_MEM, M_ADDR);
    emit(p, BPF_ALU | BPF_XOR | BPF_X, 0);
    emit_goto(p, L_MIX);
}

unsigned flow_fanout_prog(const struct flow_map *m, bool from_ext, struct sock_filter *insn)
{
    static const uint8_t icmp_errors[] = { 3, 4, 5, 11, 12 }; /* unreachable, quench, redirect, time, param */
    /* Where the client is: the source of a client's frame, the destination of a reply. An ICMP
     * error quotes a frame of the other direction, so there the sides swap. */
    unsigned client_addr = from_ext ? IP_OFF_SADDR : IP_OFF_DADDR;
    unsigned client_port = from_ext ? L4_OFF_SPORT : L4_OFF_DPORT;
    unsigned quoted_addr = from_ext ? IP_OFF_DADDR : IP_OFF_SADDR;
    unsigned quoted_port = from_ext ? L4_OFF_DPORT : L4_OFF_SPORT;
    struct prog p = { .insn = insn };

    emit(&p, BPF_LD | BPF_H | BPF_ABS, IP_OFF_FRAG);
    emit_jump_if(&p, BPF_JSET, IP_FRAG_OFFSET_MASK, L_OUTER_ADDR, true); /* a later fragment: no ports */
    emit(&p, BPF_LD | BPF_B | BPF_ABS, IP_OFF_PROTO);
    emit_jump_if(&p, BPF_JEQ, IPPROTO_ICMP, L_ICMP, true);
    emit(&p, BPF_ST, M_PROTO);
    emit(&p, BPF_LDX | BPF_B | BPF_MSH, 0);
    emit(&p, BPF_LD | BPF_W | BPF_ABS, client_addr);
    emit_key(&p, m, client_port, L_PORT_OUTER);

    place(&p, L_ICMP);
    emit(&p, BPF_LDX | BPF_B | BPF_MSH, 0);
    emit(&p, BPF_LD | BPF_B | BPF_IND, 0); /* type */
    for (unsigned i = 0; i < sizeof icmp_errors; i++)
        emit_jump_if(&p, BPF_JEQ, icmp_errors[i], L_ICMP_ERROR, true);
    place(&p, L_OUTER_ADDR);
    emit(&p, BPF_LD | BPF_W | BPF_ABS, client_addr);
    emit(&p, BPF_ALU | BPF_AND | BPF_K, m->mask);
    emit_goto(&p, L_MIX);

    place(&p, L_ICMP_ERROR); /* X = outer header length; the quoted header follows the ICMP header */
    emit(&p, BPF_LD | BPF_B | BPF_IND, ICMP_HDR_LEN + IP_OFF_PROTO);
    emit(&p, BPF_ST, M_PROTO);
    emit(&p, BPF_LD | BPF_W | BPF_IND, ICMP_HDR_LEN + quoted_addr);
    emit(&p, BPF_ST, M_ADDR);
    emit(&p, BPF_LD | BPF_B | BPF_IND, ICMP_HDR_LEN); /* quoted version and header length */
    emit(&p, BPF_ALU | BPF_AND | BPF_K, 0xf);
    emit(&p, BPF_ALU | BPF_LSH | BPF_K, 2);
    emit(&p, BPF_ALU | BPF_ADD | BPF_X, 0);
    emit(&p, BPF_ALU | BPF_ADD | BPF_K, ICMP_HDR_LEN);
    emit(&p, BPF_MISC | BPF_TAX, 0); /* X = offset of the quoted L4 header */
    emit(&p, BPF_LD | BPF_MEM, M_ADDR);
    emit_key(&p, m, quoted_port, L_PORT_INNER);

    place(&p, L_MIX);
    emit(&p, BPF_ALU | BPF_MUL | BPF_K, FLOW_K_MIX1);
    emit(&p, BPF_MISC | BPF_TAX, 0);
    emit(&p, BPF_ALU | BPF_RSH | BPF_K, FLOW_MIX_SHIFT);
    emit(&p, BPF_ALU | BPF_XOR | BPF_X, 0);
    emit(&p, BPF_ALU | BPF_MUL | BPF_K, FLOW_K_MIX2);
    emit(&p, BPF_ALU | BPF_RSH | BPF_K, FLOW_MIX_SHIFT);
    emit(&p, BPF_ALU | BPF_MOD | BPF_K, m->n_workers);
    emit(&p, BPF_RET | BPF_A, 0);
    link_jumps(&p);
    return p.n;
}
