/* Erroneous arguments with MPI_ERRORS_RETURN (issue 10, defect 15; the
 * MPICH test errors/pt2pt/proberank): probes and receives on an invalid
 * rank or tag return the error class plain MPI returns, at once, in every
 * mode (library matching used to loop forever on them).  The error
 * handler set on the communicator is the one invoked: a counting handler
 * on a duplicate of MPI_COMM_WORLD sees every error. */
#include "mpitest.h"

static int nhandled, last_class;

static void count_errors(MPI_Comm *comm, int *err, ...)
{
    (void)comm;
    nhandled++;
    MPI_Error_class(*err, &last_class);
}

/* rc is an error of class `want`, and the handler saw it. */
#define ASSERT_ERR(call, want)                                                 \
    do {                                                                       \
        int before_ = nhandled, rc_ = (call), class_ = -1;                     \
        MPI_Error_class(rc_, &class_);                                         \
        ASSERT_NE_INT(rc_, MPI_SUCCESS);                                       \
        ASSERT_EQ_INT(class_, (want));                                         \
        ASSERT_EQ_INT(nhandled, before_ + 1);                                  \
        ASSERT_EQ_INT(last_class, (want));                                     \
    } while (0)

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    MPI_Comm comm;
    MPI_Errhandler eh;
    MPI_Status st;
    MPI_Message msg = MPI_MESSAGE_NULL;
    MPI_Request r = MPI_REQUEST_NULL;
    int flag = 0, x = -1, len = 0, bad = mt_size + 3;
    char text[MPI_MAX_ERROR_STRING];

    /* proberank itself: world with MPI_ERRORS_RETURN */
    MT_OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int rc = MPI_Probe(-80, 1, MPI_COMM_WORLD, &st), cls = -1;
    MPI_Error_class(rc, &cls);
    ASSERT_EQ_INT(cls, MPI_ERR_RANK);
    MT_OK(MPI_Error_string(rc, text, &len));
    ASSERT_CMP_INT(len, >, 0);

    MT_OK(MPI_Comm_dup(MPI_COMM_WORLD, &comm));
    MT_OK(MPI_Comm_create_errhandler(count_errors, &eh));
    MT_OK(MPI_Comm_set_errhandler(comm, eh));
    ASSERT_ERR(MPI_Probe(-80, 1, comm, &st), MPI_ERR_RANK);
    ASSERT_ERR(MPI_Probe(bad, 1, comm, &st), MPI_ERR_RANK);
    ASSERT_ERR(MPI_Iprobe(bad, 1, comm, &flag, &st), MPI_ERR_RANK);
    ASSERT_ERR(MPI_Mprobe(-80, 1, comm, &msg, &st), MPI_ERR_RANK);
    ASSERT_ERR(MPI_Improbe(bad, 1, comm, &flag, &msg, &st), MPI_ERR_RANK);
    ASSERT_ERR(MPI_Probe(0, -5, comm, &st), MPI_ERR_TAG);
    ASSERT_ERR(MPI_Recv(&x, 1, MPI_INT, bad, 1, comm, &st), MPI_ERR_RANK);
    ASSERT_ERR(MPI_Recv(&x, 1, MPI_INT, 0, -5, comm, &st), MPI_ERR_TAG);
    ASSERT_ERR(MPI_Irecv(&x, 1, MPI_INT, -80, 1, comm, &r), MPI_ERR_RANK);
    ASSERT_ERR(MPI_Irecv(&x, -1, MPI_INT, 0, 1, comm, &r), MPI_ERR_COUNT);
    ASSERT_TRUE(msg == MPI_MESSAGE_NULL);
    ASSERT_EQ_INT(x, -1);

    /* The communicator still works afterwards. */
    if (mt_rank == 0) {
        x = 42;
        MT_OK(MPI_Send(&x, 1, MPI_INT, 1, 7, comm));
    } else if (mt_rank == 1) {
        MT_OK(MPI_Recv(&x, 1, MPI_INT, 0, 7, comm, &st));
        ASSERT_STATUS(st, 0, 7);
        ASSERT_EQ_INT(x, 42);
    }
    MT_OK(MPI_Comm_free(&comm));
    MT_OK(MPI_Errhandler_free(&eh));
    MT_OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
    return mt_finish(MT_ALL);
}
